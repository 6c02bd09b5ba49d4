/**
 * Imported first by `npm start` (and the scripts that use the AWS SDK). On Node older than the
 * AWS SDK's next minimum (22), the SDK prints a 9-line NodeVersionSupportWarning when its first
 * client is made, on every start. It is said here in one line instead, and the SDK's block is
 * turned off with its own switch (set that switch yourself, to either value, and this says nothing).
 */
export const SDK_NEXT_MINIMUM_NODE = 22;

const major = Number(/^v(\d+)\./.exec(process.version)?.[1]);
if (major < SDK_NEXT_MINIMUM_NODE && process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] === undefined) {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
  console.error(
    `note: Node ${process.version} works, but AWS SDK releases after January 2027 need Node ${SDK_NEXT_MINIMUM_NODE} or later (Lambda runs Node 24: docs/test-lanes.md, Node versions)`,
  );
}

import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench`'s deployed-stack section: bench/deployed-run.ts measures the functions as
 * synthesized (cdk.out) in AWS's Lambda Runtime Interface Emulator and what the stack costs per
 * GB. Its emulators (LocalStack, DynamoDB Local) listen on every interface, so, as npm test does,
 * it runs inside a network namespace with only loopback (root and `unshare` needed); otherwise
 * the section prints why it was skipped.
 */
const RUN = fileURLToPath(new URL('./deployed-run.ts', import.meta.url));

function namespaceUnavailable(): string | undefined {
  if (process.env['BLOBSERVER_TEST_NETNS'] === '1') return undefined;
  if (process.platform !== 'linux') return `${process.platform} has no network namespaces`;
  if (process.getuid?.() !== 0) return 'not running as root (unshare -n needs it)';
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' });
  return probe.status === 0 ? undefined : 'unshare -n / ip link failed (install util-linux and iproute2)';
}

export async function deployedBench(): Promise<void> {
  const why = namespaceUnavailable();
  if (why) {
    console.log(`\n11-12. deployed stack in the Lambda RIE: skipped (${why})`);
    return;
  }
  const nodeArgs = ['--import', 'tsx', RUN];
  const [cmd, args] =
    process.env['BLOBSERVER_TEST_NETNS'] === '1'
      ? [process.execPath, nodeArgs]
      : ['unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...nodeArgs]];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, BLOBSERVER_TEST_NETNS: '1' } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/deployed-run.ts exited with ${code}`))));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await deployedBench();

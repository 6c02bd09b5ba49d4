import { REFUSE } from './errors.js';

/**
 * The page at /ui/ (DESIGN §10), one self-contained HTML document. The Lambda bundle has it
 * built in: infra/ builds it from ui/ when it bundles the read side and hands it to esbuild as
 * this constant. Without it (sources run directly) the local server builds it (local/server.ts).
 */
declare const BLOBSERVER_UI_PAGE: string | undefined;

export async function builtInUiPage(): Promise<string> {
  if (typeof BLOBSERVER_UI_PAGE === 'string') return BLOBSERVER_UI_PAGE;
  throw REFUSE.uiNotBuilt();
}

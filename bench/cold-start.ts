import { fileURLToPath } from 'node:url';

/**
 * Issue 29's cold-start comparison: the read and write functions' init under AWS's Lambda RIE
 * against a minimal Node handler bundle's, measured in one run under the same RIE.
 *
 * PLACEHOLDER: the measurement is the `coldstart` helper's (its `coldStartComparison` in this
 * file replaces this one when its branch lands). Until then this entry only says where today's
 * figures come from: section 11 of `npm run bench:all` (bench/deployed.ts, the functions as
 * synthesized in the RIE, init ms per function), without a minimal handler beside them.
 */

export interface ColdStartRow {
  name: string;
  initMs: number;
}

export async function coldStartComparison(_runs = 7): Promise<ColdStartRow[] | undefined> {
  console.log('\ncold starts in the Lambda RIE: read and write functions against a minimal handler');
  console.log(
    "  not measured here yet: bench/cold-start.ts is a placeholder for the coldstart branch; today's init figures (no minimal handler beside them) are section 11 of `npm run bench:all` (bench/deployed.ts)",
  );
  return undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await coldStartComparison(Number(process.argv[2] ?? 7));

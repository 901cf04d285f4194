import { resultsTable } from './report.js';

/** vitest global setup: after the run, print the table of every kept scenario result. */
export default function setup(): () => void {
  return () => {
    const table = resultsTable();
    if (table)
      console.log(`\nChaos scenarios (latest result of each, test/chaos/results):\n${table}\n`);
  };
}

import { summarizeProfileFile } from './cpu-profile-summary.js';

/**
 * `node --import tsx bench/cpu-profile/top-functions.ts <file.cpuprofile> [top=20] [skipMs=0]`:
 * print the top self-time functions, leaving out the first `skipMs` (start-up).
 */
const [file, top = '20', skipMs = '0'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/cpu-profile/top-functions.ts <file.cpuprofile> [top=20] [skipMs=0]\n');
  process.exit(2);
}
process.stdout.write(`${await summarizeProfileFile(file, Number(top), Number(skipMs))}\n`);

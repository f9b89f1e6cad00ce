import { scanAll } from '../src/scan/scan.ts';
for (let i = 0; i < 4; i++) await scanAll(process.argv[2] ?? '');

// Fails when the committed action bundles differ from a fresh build (GitHub would run stale code).
import { execFileSync } from 'node:child_process';

execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
const changed = execFileSync('git', ['status', '--porcelain', '--', 'actions'], { encoding: 'utf8' }).trim();
if (changed) {
  console.error(
    `${changed}\n::error title=Stale bundle::actions/*/dist differs from a fresh 'npm run build'; run it and commit the result.`,
  );
  process.exit(1);
}
console.log('action bundles are up to date');

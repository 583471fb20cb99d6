// Size budget: builds the package, bundles each entry the way an app would (minified
// ESM, react left to the app), gzips it and fails when it is over its budget.
//   npm run size -w @ssehub/client
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));

// Budgets in gzipped bytes, measured with some headroom (see the README's "Size").
const BUDGETS = {
  '@ssehub/client': 10_000,
  '@ssehub/client/react': 10_500,
};
const ENTRIES = { '@ssehub/client': 'dist/index.js', '@ssehub/client/react': 'dist/react.js' };

execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

let over = false;
for (const [name, entry] of Object.entries(ENTRIES)) {
  const out = await build({
    root,
    logLevel: 'silent',
    configFile: false,
    build: {
      write: false,
      minify: true,
      lib: { entry, formats: ['es'], fileName: 'bundle' },
      rollupOptions: { external: ['react', 'react/jsx-runtime'] },
    },
  });
  const chunks = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []));
  const code = chunks.filter((c) => c.type === 'chunk').map((c) => c.code).join('\n');
  const gz = gzipSync(code, { level: 9 }).length;
  const budget = BUDGETS[name];
  const verdict = gz <= budget ? 'ok' : 'OVER BUDGET';
  if (gz > budget) over = true;
  console.log(`${name}: ${code.length} B minified, ${gz} B gzipped (budget ${budget} B) ${verdict}`);
}
process.exit(over ? 1 : 0);

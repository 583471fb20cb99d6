// Proves the package works as published: packs the tarball, checks what it holds,
// installs it into a fresh Vite + React + TypeScript app (react, vite and friends come
// from the registry, or the npm cache), type-checks and builds that app, and checks the
// bundle carries the client. With SSEHUB_BIN set it also serves the app from that hub
// and watches an event published over HTTP appear in Debian's Chromium.
//   npm run pack-check -w @ssehub/client      (KEEP=1 keeps the temporary directory)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const frontend = path.resolve(root, '..', '..');
const spa = JSON.parse(readFileSync(path.join(frontend, 'package.json'), 'utf8'));
const version = (name) => spa.dependencies?.[name] ?? spa.devDependencies?.[name] ?? 'latest';

function check(ok, message) {
  if (!ok) {
    console.error(`pack-check: FAIL: ${message}`);
    process.exit(1);
  }
  console.log(`pack-check: ok: ${message}`);
}

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

const tmp = mkdtempSync(path.join(tmpdir(), 'ssehub-pack-'));
let hub = null;
try {
  // 1. The tarball holds the build, the README, the licence and the manifest: nothing else.
  run('npm', ['run', 'build'], root);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], root));
  const files = packed.files.map((f) => f.path).sort();
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/[\w/]+\.(js|d\.ts))$/.test(f));
  check(stray.length === 0, `the tarball holds only dist, README, LICENSE and package.json (${files.length} files)${stray.length > 0 ? `; not: ${stray.join(', ')}` : ''}`);
  for (const f of ['README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/react.js', 'dist/react.d.ts']) check(files.includes(f), `the tarball has ${f}`);
  const tarball = path.join(tmp, packed.filename);

  // 2. A fresh app that uses it in three lines.
  const app = path.join(tmp, 'app');
  mkdirSync(path.join(app, 'src'), { recursive: true });
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'fresh-app',
        private: true,
        type: 'module',
        dependencies: { '@ssehub/client': `file:${tarball}`, react: version('react'), 'react-dom': version('react-dom') },
        devDependencies: {
          vite: version('vite'),
          '@vitejs/plugin-react': version('@vitejs/plugin-react'),
          typescript: version('typescript'),
          '@types/react': version('@types/react'),
          '@types/react-dom': version('@types/react-dom'),
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(app, 'index.html'), '<!doctype html><html><head><title>fresh</title></head><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n');
  writeFileSync(path.join(app, 'vite.config.js'), "import react from '@vitejs/plugin-react';\nexport default { plugins: [react()] };\n");
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', jsx: 'react-jsx', strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'] }, include: ['src'] }),
  );
  writeFileSync(
    path.join(app, 'src', 'main.tsx'),
    [
      "import { createRoot } from 'react-dom/client';",
      "import { useSse } from '@ssehub/client/react';",
      '',
      'function App() {',
      '  const { status, events } = useSse();',
      '  return <p id="feed" data-status={status}>{events.map((e) => `#${e.sequence} ${e.type}`).join(", ")}</p>;',
      '}',
      '',
      "createRoot(document.getElementById('root')!).render(<App />);",
      '',
    ].join('\n'),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app);
  check(readdirSync(path.join(app, 'node_modules', '@ssehub', 'client', 'dist')).includes('react.d.ts'), 'installed from the tarball');

  // 3. Its types resolve through the exports map, and it builds with the client inside.
  run(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);
  check(true, 'the app type-checks against the published declarations (strict, skipLibCheck off)');
  run(path.join(app, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'error'], app);
  const assets = path.join(app, 'dist', 'assets');
  const bundle = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(path.join(assets, f), 'utf8'))
    .join('\n');
  check(bundle.includes('ssehub.lastSequence.') && bundle.includes('/api/sse/connect') && bundle.includes('named'), 'the built bundle carries the client');

  // 4. Optional: the app, served by a real hub, receives an event in a real browser.
  if (process.env.SSEHUB_BIN === undefined) {
    console.log('pack-check: live check skipped (set SSEHUB_BIN to the hub binary to run it)');
  } else {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    hub = spawn(path.resolve(frontend, process.env.SSEHUB_BIN), ['--listen', `127.0.0.1:${port}`, '--data-dir', path.join(tmp, 'data'), '--static-dir', path.join(app, 'dist')], {
      stdio: 'ignore',
    });
    await until(async () => (await fetch(`${base}/health/live`).catch(() => null))?.ok === true, 'the hub to start');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(base);
      await page.locator('#feed[data-status=open]').waitFor({ state: 'attached', timeout: 20_000 });
      const res = await fetch(`${base}/api/sse/notification`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: 'hello fresh app' }) });
      const { sequence } = await res.json();
      await page.locator('#feed', { hasText: `#${sequence} notification` }).waitFor({ timeout: 20_000 });
      check(true, `the fresh app received event #${sequence} from the hub in Chromium`);
    } finally {
      await browser.close();
    }
  }
} finally {
  hub?.kill('SIGTERM');
  if (process.env.KEEP === undefined) rmSync(tmp, { recursive: true, force: true });
  else console.log(`pack-check: kept ${tmp}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function until(probe, what) {
  const deadline = Date.now() + 20_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

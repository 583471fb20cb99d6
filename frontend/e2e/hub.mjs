// Test fixtures: the real ssehub binary serving frontend/dist, and Debian's
// Chromium driven by playwright-core (no browser download, ever).
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const frontendDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const artifactsDir = path.resolve(frontendDir, '..', 'artifacts');
const distDir = path.join(frontendDir, 'dist');
const hubBin = path.resolve(frontendDir, process.env.SSEHUB_BIN ?? '../target/debug/ssehub');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

// Temporary data dirs and browser profiles, removed when the test process exits.
const tempDirs = [];
function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A self-signed certificate for localhost and 127.0.0.1, made with openssl as the README
 * shows; returns the PEM file paths.
 */
export function selfSignedCert() {
  const dir = tempDir('ssehub-e2e-tls-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** A request over https trusting `ca` (Node's fetch cannot be given a CA per call). */
function httpsRequest(url, { method = 'GET', headers = {}, body, ca }) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One hub process on a fixed port and data dir; can be killed and started again. */
export class Hub {
  constructor(port, dataDir, extraArgs = [], tls = null) {
    this.extraArgs = extraArgs;
    this.port = port;
    this.dataDir = dataDir;
    // With TLS the hub is reached by name, as a browser would (the certificate names both).
    this.base = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
    this.ca = tls ? readFileSync(tls.cert) : null;
    if (tls) this.extraArgs = ['--tls-cert', tls.cert, '--tls-key', tls.key, ...extraArgs];
    this.proc = null;
    mkdirSync(artifactsDir, { recursive: true });
    this.log = createWriteStream(path.join(artifactsDir, 'e2e-hub.log'), { flags: 'a' });
  }

  static async create(extraArgs = []) {
    const dataDir = tempDir('ssehub-e2e-data-');
    return new Hub(await freePort(), dataDir, extraArgs);
  }

  /** A hub serving HTTPS (ALPN h2 and http/1.1) with a fresh self-signed certificate. */
  static async createTls(extraArgs = []) {
    const dataDir = tempDir('ssehub-e2e-data-');
    return new Hub(await freePort(), dataDir, extraArgs, selfSignedCert());
  }

  /** fetch for plain hubs; https trusting the hub's certificate for TLS ones. */
  async request(pathname, init = {}) {
    const url = `${this.base}${pathname}`;
    if (this.ca === null) {
      const res = await fetch(url, init);
      return { ok: res.ok, status: res.status, text: await res.text() };
    }
    return httpsRequest(url, { ...init, ca: this.ca });
  }

  async start() {
    const args = ['--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--static-dir', distDir, ...this.extraArgs];
    this.log.write(`\n=== ${new Date().toISOString()} ${hubBin} ${args.join(' ')}\n`);
    const proc = spawn(hubBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' } });
    proc.stdout.pipe(this.log, { end: false });
    proc.stderr.pipe(this.log, { end: false });
    this.proc = proc;
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = exited;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const early = await Promise.race([exited, sleep(100).then(() => null)]);
      if (early !== null) throw new Error(`ssehub exited during start (${JSON.stringify(early)}); see artifacts/e2e-hub.log`);
      try {
        const res = await this.request('/health/live');
        if (res.ok) return;
      } catch {
        // not listening yet
      }
    }
    throw new Error('ssehub did not become live within 20 s');
  }

  async kill(signal = 'SIGKILL') {
    if (this.proc === null) return;
    const proc = this.proc;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await this.exited;
  }

  async post(pathname, body, apiKey) {
    const res = await this.request(pathname, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(apiKey ? { 'X-API-Key': apiKey } : {}) },
      body: JSON.stringify(body),
    });
    const text = res.text;
    if (!res.ok) throw new Error(`POST ${pathname} -> ${res.status} ${text}`);
    return text === '' ? null : JSON.parse(text);
  }
}

export async function launchBrowser(extraArgs = []) {
  const userDataDir = tempDir('ssehub-e2e-chromium-');
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1400, height: 900 },
  });
}

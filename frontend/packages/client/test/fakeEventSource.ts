// A scriptable stand-in for the browser's EventSource, injected into SseClient.
import type { EventSourceLike } from '../src/index.js';

type Listener = (ev: MessageEvent<string>) => void;

export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];

  /** Whether the fake hub honours `named=false` (today's hubs ignore it and name every frame). */
  static hubHonoursUnnamed = true;

  static reset(): void {
    FakeEventSource.instances = [];
    FakeEventSource.hubHonoursUnnamed = true;
  }

  /** The instances not closed yet. */
  static live(): FakeEventSource[] {
    return FakeEventSource.instances.filter((es) => !es.closed);
  }

  static latest(): FakeEventSource {
    const es = FakeEventSource.instances.at(-1);
    if (es === undefined) throw new Error('no EventSource was created');
    return es;
  }

  readyState = 0;
  closed = false;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  private readonly listeners = new Map<string, Listener[]>();
  private lastId = '';

  constructor(
    readonly url: string,
    /** The fake tab that opened it. */
    readonly tab = '',
  ) {
    FakeEventSource.instances.push(this);
  }

  get params(): URLSearchParams {
    return new URLSearchParams(this.url.split('?')[1] ?? '');
  }

  get types(): string[] {
    return [...this.listeners.keys()];
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  /** Server accepted: fires open then the `connected` frame. */
  open(info: { node?: string; resumeFrom?: number | null; headSequence?: number } = {}): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
    const clientId = this.params.get('clientId') ?? 'x';
    const head = info.headSequence ?? 0;
    const cp = this.params.get('checkpoint');
    // Like the hub: deliver after the checkpoint, capped at the head; live start = head.
    const resumeFrom = info.resumeFrom !== undefined ? info.resumeFrom : cp !== null ? Math.min(Number(cp), head) : head;
    this.dispatch('connected', JSON.stringify({ clientId, node: info.node ?? 'n1', resumeFrom, headSequence: head }), undefined);
  }

  /** A frame as the hub writes it; `id` defaults to the sequence. */
  dispatch(type: string, data: string, id: string | undefined): void {
    if (id !== undefined) this.lastId = id;
    const ev = new MessageEvent<string>(type, { data, lastEventId: this.lastId });
    for (const l of this.listeners.get(type) ?? []) l(ev);
  }

  /** Frames go without `event:` lines (`named=false`, on a hub that honours it). */
  get unnamed(): boolean {
    return FakeEventSource.hubHonoursUnnamed && this.params.get('named') === 'false';
  }

  event(seq: number, type = 'message', fields: Record<string, unknown> = { data: { n: seq } }): void {
    const body = { _sequence: seq, messageId: `m-${seq}`, timestamp: '2026-01-09T10:30:00.123Z', version: '1.0', type, ...fields };
    this.dispatch(this.unnamed ? 'message' : type, JSON.stringify(body), String(seq));
  }

  /** Connection dropped; `retrying` = the browser will retry by itself (readyState CONNECTING). */
  fail(retrying: boolean): void {
    this.readyState = retrying ? 0 : 2;
    this.onerror?.(new Event('error'));
  }
}

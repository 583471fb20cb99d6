// A scriptable stand-in for the browser's EventSource, injected into SseClient.
import type { EventSourceLike } from '../src/index.js';

type Listener = (ev: MessageEvent<string>) => void;

export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];

  static reset(): void {
    FakeEventSource.instances = [];
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

  constructor(readonly url: string) {
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

  event(seq: number, type = 'message', fields: Record<string, unknown> = { data: { n: seq } }): void {
    const body = { _sequence: seq, messageId: `m-${seq}`, timestamp: '2026-01-09T10:30:00.123Z', version: '1.0', type, ...fields };
    this.dispatch(type, JSON.stringify(body), String(seq));
  }

  /** Connection dropped; `retrying` = the browser will retry by itself (readyState CONNECTING). */
  fail(retrying: boolean): void {
    this.readyState = retrying ? 0 : 2;
    this.onerror?.(new Event('error'));
  }
}

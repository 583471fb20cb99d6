import { Code } from '../../components/Code';
import { Notices } from '../../components/Notices';
import { PageHeader } from '../../components/PageHeader';
import { StatusPill } from '../../components/StatusPill';
import { TypedEventCard } from '../../components/TypedEventCard';
import { useHubStream } from '../../hooks/useHubStream';

export function TypedEventsExample() {
  const stream = useHubStream({ maxEvents: 50 });
  const newest = stream.events.slice(-24).reverse();
  return (
    <>
      <PageHeader title="Typed events">
        Every frame is validated against its schema and rendered from typed fields. Frames that do not match are shown as rejected, never
        silently dropped.
      </PageHeader>
      <Code>{`switch (e.parsed.kind) {
  case 'alert':        e.parsed.event.category  // string, validated
  case 'dataUpdate':   e.parsed.event.changes   // Record<string, unknown>
  case 'invalid':      e.parsed.problem         // why it was rejected
}`}</Code>
      <div className="row-between">
        <StatusPill status={stream.status} />
      </div>
      <Notices stream={stream} />
      <div className="cards" role="log" aria-label="Typed events, newest first" aria-live="off">
        {newest.length === 0 ? <p className="empty">No events yet. Start the demo generator to see every type.</p> : newest.map((e) => <TypedEventCard key={`${e.sequence ?? 'x'}-${e.receivedAt}`} e={e} />)}
      </div>
    </>
  );
}

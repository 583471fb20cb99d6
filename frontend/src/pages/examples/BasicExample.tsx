import { Code } from '../../components/Code';
import { EventList } from '../../components/EventList';
import { Notices } from '../../components/Notices';
import { PageHeader } from '../../components/PageHeader';
import { StreamFacts } from '../../components/StreamFacts';
import { useHubStream } from '../../hooks/useHubStream';

export function BasicExample() {
  const stream = useHubStream();
  return (
    <>
      <PageHeader title="Basic">One stream, every event type, resumed across reloads. That is all the hook needs.</PageHeader>
      <Code>{`const { status, events, lastSequence } = useSse();`}</Code>
      <section className="panel" aria-label="Basic stream">
        <StreamFacts stream={stream} />
        <Notices stream={stream} />
        <EventList events={stream.events} label="Events" />
      </section>
    </>
  );
}

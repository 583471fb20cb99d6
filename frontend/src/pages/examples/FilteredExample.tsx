import { useState } from 'react';
import { Code } from '../../components/Code';
import { EventList } from '../../components/EventList';
import { FilterPicker } from '../../components/FilterPicker';
import { PageHeader } from '../../components/PageHeader';
import { StreamFacts } from '../../components/StreamFacts';
import { useHubStream } from '../../hooks/useHubStream';

export function FilteredExample() {
  const [filter, setFilter] = useState<string[]>(['alert', 'notification']);
  const stream = useHubStream({ filter });
  return (
    <>
      <PageHeader title="Filtered events">
        The hub filters server-side: this stream asks only for the checked types, so nothing else crosses the wire. Changing the selection
        reconnects from the current position.
      </PageHeader>
      <Code>{`useSse({ filter: ['alert', 'notification'] })`}</Code>
      <section className="panel" aria-label="Filtered stream">
        <StreamFacts stream={stream} />
        <FilterPicker value={filter} onChange={setFilter} streamUrl={stream.streamUrl} />
        <EventList events={stream.events} label="Filtered events" testId="filtered-list" />
      </section>
    </>
  );
}

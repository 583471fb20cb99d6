import { useState } from 'react';
import { DemoControls } from '../components/DemoControls';
import { EventList } from '../components/EventList';
import { FilterPicker } from '../components/FilterPicker';
import { Notices } from '../components/Notices';
import { PublishPanel } from '../components/PublishPanel';
import { StreamControls } from '../components/StreamControls';
import { StreamFacts } from '../components/StreamFacts';
import { parseTypeList, TypeListField } from '../components/TypeListField';
import { useEventRate } from '../hooks/useEventRate';
import { useSse } from '@ssehub/client/react';

export function DashboardPage() {
  const [filter, setFilter] = useState<string[]>([]);
  const [customText, setCustomText] = useState('orderShipped');
  const custom = parseTypeList(customText);
  // With a filter the hub sends only those types; without one, the browser still
  // only delivers event names it listens for, so custom names are listened for too.
  const stream = useSse(
    filter.length > 0 ? { name: 'dashboard', filter: [...filter, ...custom], maxEvents: 1000 } : { name: 'dashboard', extraTypes: custom, maxEvents: 1000 },
  );
  const rate = useEventRate(stream.events);
  return (
    <div className="dashboard">
      <section className="panel stream" aria-labelledby="dash-h" data-testid="dashboard">
        <div className="panel-head">
          <h1 id="dash-h">Live stream</h1>
          <StreamControls stream={stream} />
        </div>
        <StreamFacts stream={stream} rate={rate} />
        <div className="filters">
          <FilterPicker value={filter} onChange={setFilter} />
          <TypeListField label="Custom types to show" value={customText} onChange={setCustomText} testId="dashboard-custom-types" />
        </div>
        <Notices stream={stream} />
        <EventList events={stream.events} label="Live events, newest first" emptyText="Waiting for events… publish one, or start the demo generator." />
      </section>
      <aside className="side-panels" aria-label="Tools">
        <PublishPanel compact defaultClientId={stream.clientId} />
        <DemoControls />
      </aside>
    </div>
  );
}

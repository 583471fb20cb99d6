import { KNOWN_TYPES } from '@ssehub/client';
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
import { useHubFeatures } from '../hooks/useHubFeatures';
import { useHubStream } from '../hooks/useHubStream';

/** What the list can show, said plainly: every type, or only the names listened for. */
function Coverage({ unnamed, listened }: { unnamed: boolean | null; listened: readonly string[] }) {
  if (unnamed === true) {
    return (
      <p className="small muted" data-testid="type-coverage" data-coverage="all">
        Every event type the hub sends is shown: the stream asks for unnamed events (<code>named=false</code>), and this hub sends them, so the
        browser delivers all of them.
      </p>
    );
  }
  return (
    <p className="small muted" data-testid="type-coverage" data-coverage="unconfirmed">
      The stream asks for every type (<code>named=false</code>). A hub too old for that sends each event under its type name, and a browser
      delivers only the names it listens for: <span className="mono">{listened.join(', ')}</span>; add custom types below to see them there.
      This line changes once an event of another type arrives.
    </p>
  );
}

export function DashboardPage() {
  const [checked, setChecked] = useState<string[]>([]);
  const [otherText, setOtherText] = useState('');
  const [listenText, setListenText] = useState('');
  const features = useHubFeatures();
  const others = parseTypeList(otherText);
  const filter = [...checked, ...others];
  const listenFor = parseTypeList(listenText);
  const stream = useHubStream(filter.length > 0 ? { filter, maxEvents: 1000 } : { extraTypes: listenFor, maxEvents: 1000 });
  // The list shows what the filter lets through, also among events received before it changed.
  const wanted = new Set(filter.map((t) => t.toLowerCase()));
  const events = wanted.size === 0 ? stream.events : stream.events.filter((e) => wanted.has(e.type.toLowerCase()));
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
          <FilterPicker value={checked} onChange={setChecked} streamUrl={stream.streamUrl} />
          <TypeListField label="Filter by other types too" value={otherText} onChange={setOtherText} testId="dashboard-filter-other" />
        </div>
        <Coverage unnamed={features.unnamed} listened={filter.length > 0 ? filter : [...KNOWN_TYPES, ...listenFor]} />
        {features.unnamed !== true && filter.length === 0 && (
          <TypeListField label="Custom types to listen for" value={listenText} onChange={setListenText} testId="dashboard-custom-types" />
        )}
        <Notices stream={stream} blocked={stream.blocked} />
        <EventList
          events={events}
          label="Live events, newest first"
          emptyText={filter.length > 0 ? `No ${filter.join(' or ')} events yet.` : 'Waiting for events… publish one, or start the demo generator.'}
        />
      </section>
      <aside className="side-panels" aria-label="Tools">
        <PublishPanel compact defaultClientId={stream.clientId} />
        <DemoControls />
      </aside>
    </div>
  );
}

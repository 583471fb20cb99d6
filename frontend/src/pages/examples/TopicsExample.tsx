import { useState } from 'react';
import { Code } from '../../components/Code';
import { EventList } from '../../components/EventList';
import { Notices } from '../../components/Notices';
import { PageHeader } from '../../components/PageHeader';
import { PublishPanel } from '../../components/PublishPanel';
import { StreamFacts } from '../../components/StreamFacts';
import { parseTopicList, TopicsField } from '../../components/TopicsField';
import { useHubFeatures } from '../../hooks/useHubFeatures';
import { useHubStream } from '../../hooks/useHubStream';

export function TopicsExample() {
  const features = useHubFeatures(['topics']);
  const [text, setText] = useState('org/42/*');
  const selectors = parseTopicList(text, true).valid;
  const on = features.topics === true && selectors.length > 0;
  const stream = useHubStream({ topics: selectors, enabled: on });
  return (
    <>
      <PageHeader title="Topics">
        A stream asks for topics with <code>topic=</code> (an exact topic, or a prefix ending in <code>*</code>) and receives the events published
        with a matching topic, besides untopiced events. Changing the selectors reconnects from the current position.
      </PageHeader>
      <Code>{`useSse({ topics: ['org/42/*'] })
// publish: POST /api/sse/broadcast {"data": {...}, "topics": ["org/42/room1"]}`}</Code>
      <div className="columns">
        <section className="panel" aria-label="Topic stream">
          <TopicsField value={text} onChange={setText} supported={features.topics} selectors testId="stream-topics" />
          {features.topics === true && selectors.length === 0 && <p className="small muted">Enter a selector to connect.</p>}
          <StreamFacts stream={stream} />
          {stream.connection !== null && stream.connection.topics !== null && (
            <p className="small" data-testid="granted-topics">
              Granted by the hub: <span className="mono">{stream.connection.topics.join(' ') || 'none'}</span>
            </p>
          )}
          <Notices stream={stream} blocked={stream.blocked} />
          <EventList events={stream.events} label="Events on these topics" testId="topics-list" />
        </section>
        <PublishPanel withTopics defaultTopics="org/42/room1" />
      </div>
    </>
  );
}

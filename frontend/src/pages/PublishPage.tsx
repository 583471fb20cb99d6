import { PageHeader } from '../components/PageHeader';
import { PublishPanel } from '../components/PublishPanel';

export function PublishPage() {
  return (
    <>
      <PageHeader title="Publish">
        Send a notification, an alert, a data update or an event of your own type, to everyone or to one client id.
        Publishing needs a publish key unless the hub runs open. Topics (on hubs that have them) limit an event to the streams that asked
        for a matching topic.
      </PageHeader>
      <PublishPanel withTopics />
    </>
  );
}

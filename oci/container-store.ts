import { RecordStore } from '../common/record-store';
import { containerName, type ContainerIntent, type ContainerRecord } from './container-record';

/** The container records (`<root>/containers/<id>/container.json`) and per-pod name reservations. */
export class ContainerStore extends RecordStore<ContainerRecord, ContainerIntent> {
  constructor(dir: string) {
    super(dir, 'container.json', 'container', (record) => containerName(record.podId, record.config));
  }
}

import { RecordStore } from '../common/record-store';
import { sandboxName, type SandboxIntent, type SandboxRecord } from './sandbox-record';

/** The sandbox records (`<root>/sandboxes/<id>/sandbox.json`) and pod-attempt name reservations. */
export class SandboxStore extends RecordStore<SandboxRecord, SandboxIntent> {
  constructor(dir: string) {
    super(dir, 'sandbox.json', 'pod sandbox', (record) => sandboxName(record.config));
  }
}

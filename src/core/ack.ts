/**
 * A handle a sink calls once it has durably delivered (or dead-lettered) one event.
 * Calling it more than once is a bug in the sink and is ignored.
 */
export interface AckHandle {
  ack(): void;
}

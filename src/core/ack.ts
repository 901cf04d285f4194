/**
 * A handle a sink calls once it has durably delivered (or dead-lettered) one event.
 * Calling it more than once is a bug in the sink and is ignored.
 */
export interface AckHandle {
  ack(): void;
}

/**
 * `count` handles in place of `ack`, which is called once every one of them has been: a
 * chunk's events acknowledged by one handle, dead-lettered one entry each.
 */
export function ackAfterEach(ack: AckHandle, count: number): AckHandle[] {
  if (count === 0) {
    ack.ack();
    return [];
  }
  let outstanding = count;
  return Array.from({ length: count }, () => {
    let done = false;
    return {
      ack(): void {
        if (done) return;
        done = true;
        outstanding -= 1;
        if (outstanding === 0) ack.ack();
      },
    };
  });
}

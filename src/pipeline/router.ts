import type { RelayEvent, SourceFormat } from '../core/event.js';
import type { Sink } from '../sinks/sink.js';

export interface SinkRoute {
  readonly sink: Sink;
  /** Empty: every event type. */
  readonly eventTypes: readonly string[];
  /** Empty: every source format. */
  readonly formats: readonly SourceFormat[];
  /** Empty: every stream. Streams as configured (the events carry that name or ARN). */
  readonly streams?: readonly string[];
}

/** Sends each event to every sink whose filter accepts it. */
export class Router {
  private readonly routes: ReadonlyArray<{
    sink: Sink;
    types: ReadonlySet<string> | null;
    formats: ReadonlySet<string> | null;
    streams: ReadonlySet<string> | null;
  }>;

  constructor(routes: readonly SinkRoute[]) {
    this.routes = routes.map((route) => ({
      sink: route.sink,
      types: route.eventTypes.length > 0 ? new Set(route.eventTypes) : null,
      formats: route.formats.length > 0 ? new Set(route.formats) : null,
      streams: route.streams?.length ? new Set(route.streams) : null,
    }));
  }

  get sinks(): Sink[] {
    return this.routes.map((route) => route.sink);
  }

  /** Calls `deliver` for every sink that accepts the event; returns how many did. */
  route(event: RelayEvent, deliver: (sink: Sink) => void): number {
    let accepted = 0;
    for (const route of this.routes) {
      if (route.types && !route.types.has(event.type)) continue;
      if (route.formats && !route.formats.has(event.format)) continue;
      if (route.streams && !route.streams.has(event.record.streamName)) continue;
      deliver(route.sink);
      accepted += 1;
    }
    return accepted;
  }
}

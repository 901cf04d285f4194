import type { AckHandle } from '../core/ack.js';
import type { RelayEvent, SourceFormat } from '../core/event.js';
import type { Sink } from '../sinks/sink.js';

/**
 * What becomes of an event a sink's `write` threw on (it could not encode it: a document
 * nested deeper than JSON.stringify's stack): the caller dead-letters it with the handle.
 */
export type RefusedWrite = (sink: Sink, event: RelayEvent, error: unknown, ack: AckHandle) => void;

/** Which events a sink takes. Empty lists: all. */
export interface RouteFilterConfig {
  /** Empty: every event type. */
  readonly eventTypes: readonly string[];
  /** Empty: every source format. */
  readonly formats: readonly SourceFormat[];
  /** Empty: every stream. Streams as configured (the events carry that name or ARN). */
  readonly streams?: readonly string[];
}

export interface SinkRoute extends RouteFilterConfig {
  readonly sink: Sink;
}

/**
 * A sink's filter, compiled once. Shared by the router and the decode workers, which
 * encode an event only for the sinks that take it: both must answer alike.
 */
export class RouteFilter {
  private readonly types: ReadonlySet<string> | null;
  private readonly formats: ReadonlySet<string> | null;
  private readonly streams: ReadonlySet<string> | null;

  constructor(config: RouteFilterConfig) {
    this.types = config.eventTypes.length > 0 ? new Set(config.eventTypes) : null;
    this.formats = config.formats.length > 0 ? new Set(config.formats) : null;
    this.streams = config.streams?.length ? new Set(config.streams) : null;
  }

  accepts(type: string, format: SourceFormat, streamName: string): boolean {
    if (this.types && !this.types.has(type)) return false;
    if (this.formats && !this.formats.has(format)) return false;
    if (this.streams && !this.streams.has(streamName)) return false;
    return true;
  }
}

/** Sends each event to every sink whose filter accepts it. */
export class Router {
  private readonly routes: ReadonlyArray<{ sink: Sink; filter: RouteFilter }>;

  constructor(routes: readonly SinkRoute[]) {
    this.routes = routes.map((route) => ({ sink: route.sink, filter: new RouteFilter(route) }));
  }

  get sinks(): Sink[] {
    return this.routes.map((route) => route.sink);
  }

  /**
   * Writes the event to every sink that accepts it, each with a handle from `acks`;
   * returns how many did. The same selection as `routeFields`, without a callback: the
   * per-record path makes no closure per event. A sink that throws on the event hands it,
   * with its handle, to `refused`: one event a sink cannot take must not stop the page half
   * routed, with its record's acknowledgement never complete.
   */
  write(event: RelayEvent, acks: { expect(): AckHandle }, refused: RefusedWrite): number {
    const { type, format } = event;
    const streamName = event.record.streamName;
    let accepted = 0;
    for (let index = 0; index < this.routes.length; index += 1) {
      const route = this.routes[index];
      if (!route || !route.filter.accepts(type, format, streamName)) continue;
      const ack = acks.expect();
      try {
        route.sink.write(event, ack);
      } catch (error) {
        refused(route.sink, event, error, ack);
      }
      accepted += 1;
    }
    return accepted;
  }

  /**
   * Calls `deliver` for every sink that accepts an event of these fields (an event decoded
   * in a worker is not rebuilt on the main thread); `index` is the sink's place in the
   * routes. Returns how many did.
   */
  routeFields(
    type: string,
    format: SourceFormat,
    streamName: string,
    deliver: (sink: Sink, index: number) => void,
  ): number {
    let accepted = 0;
    for (let index = 0; index < this.routes.length; index += 1) {
      const route = this.routes[index];
      if (!route || !route.filter.accepts(type, format, streamName)) continue;
      deliver(route.sink, index);
      accepted += 1;
    }
    return accepted;
  }
}

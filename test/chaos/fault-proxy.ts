import { createServer, connect, type Server, type Socket } from 'node:net';

/** What the proxy does to traffic: forward it, refuse connections, swallow it, or delay it. */
export type FaultMode = { readonly kind: 'pass' } | { readonly kind: 'refuse' } | { readonly kind: 'blackhole' } | { readonly kind: 'slow'; readonly delayMs: number };

/**
 * A TCP proxy that injects faults between a job and a dependency (moto for S3, S3 Tables and
 * DynamoDB; the dependency keeps its state). Modes, switched at any time:
 * - `pass`: forwards both ways;
 * - `refuse`: the port is closed (ECONNREFUSED) and open connections are closed (`resetAndDestroy`
 *   would send an RST, but on Node 20 it left the process spinning after the test);
 * - `blackhole`: connections are accepted and bytes read, but nothing is forwarded or answered,
 *   also on connections opened before — a request accepted and never answered;
 * - `slow`: every chunk, either way, is forwarded `delayMs` late (in order).
 */
export class FaultProxy {
  private server: Server | undefined;
  private mode: FaultMode = { kind: 'pass' };
  private readonly connections = new Set<{ client: Socket; upstream: Socket }>();
  /** Connections accepted so far (any mode but refuse). */
  accepted = 0;

  private constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
    /** The port it listens on (127.0.0.1), fixed for its lifetime so the job's endpoint setting stays valid. */
    public port: number,
  ) {}

  /** Starts a proxy to `upstream` ("host:port") on a free port (or `port`). */
  static async start(upstream: string, port = 0): Promise<FaultProxy> {
    const [host, portText] = upstream.split(':');
    const proxy = new FaultProxy(host ?? '127.0.0.1', Number(portText), port);
    await proxy.listen();
    return proxy;
  }

  /** `http://127.0.0.1:<port>`, for an AWS endpoint setting. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get current(): FaultMode {
    return this.mode;
  }

  async set(mode: FaultMode): Promise<void> {
    const previous = this.mode;
    this.mode = mode;
    if (mode.kind === 'refuse') {
      for (const { client, upstream } of this.connections) {
        client.destroy();
        upstream.destroy();
      }
      this.connections.clear();
      await this.closeListener();
    } else if (previous.kind === 'refuse') {
      await this.listen();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.connections) {
      client.destroy();
      upstream.destroy();
    }
    this.connections.clear();
    await this.closeListener();
  }

  private async listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const upstream = connect(this.upstreamPort, this.upstreamHost);
    const pair = { client, upstream };
    this.connections.add(pair);
    const kill = () => {
      this.connections.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill).on('close', kill);
    upstream.on('error', kill);
    this.forward(client, upstream);
    const answered = this.forward(upstream, client);
    // The upstream closed: the client gets what is still delayed, then its connection ends.
    upstream.on('close', () => void answered().then(() => client.end()));
  }

  /** Forwards `from` → `to` as the mode says at the time each chunk arrives; returns when what was forwarded so far is written. */
  private forward(from: Socket, to: Socket): () => Promise<void> {
    let queue = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === 'blackhole') return;
      if (mode.kind === 'slow') {
        // Chained, so chunks stay in order even when the delay changes.
        queue = queue.then(() => new Promise<void>((resolve) => setTimeout(resolve, mode.delayMs))).then(() => {
          if (!to.destroyed && this.mode.kind !== 'blackhole') to.write(chunk);
        });
        return;
      }
      queue = queue.then(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    // An end is passed on after the chunks before it (a slowed answer is not cut short); a blackhole keeps the other side waiting.
    from.on('end', () => {
      queue = queue.then(() => {
        if (this.mode.kind !== 'blackhole') to.end();
      });
    });
    return () => queue;
  }
}

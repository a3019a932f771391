import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';

/** One client connection and its connection to the target. */
interface Link {
  client: Socket;
  upstream?: Socket;
  stalled: boolean;
}

/**
 * A TCP forwarder on a loopback port, put between an application and its database so that a
 * test can break the network the ways networks break:
 * - `cut()`: every connection is reset and new ones are refused (the database went away);
 * - `stall()`: connections are accepted, and nothing is forwarded either way on old or new
 *   ones (the peer stopped answering, as in a partition; TCP itself sees nothing wrong);
 * - `restore()`: forwarding again. Connections that were stalled are reset, as a partition
 *   usually leaves them; what was sent into the stall was never delivered.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private stalled = false;
  private heldBytes = 0;
  private heldWaiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on an ephemeral loopback port and forwards to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    await listen(server, 0);
    return new TcpProxy(server, (server.address() as AddressInfo).port, { host: targetHost, port: targetPort });
  }

  /** The connections open through the proxy right now. */
  get connectionCount(): number {
    return this.links.size;
  }

  /** Resets every connection and stops listening, so that connecting is refused. */
  async cut(): Promise<void> {
    for (const link of this.links) this.drop(link);
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Keeps accepting, and from now on forwards nothing, on the open connections and on new ones. */
  stall(): void {
    this.stalled = true;
    for (const link of this.links) link.stalled = true;
  }

  /**
   * Resolves once the application has sent something into the stall: a query is then in flight
   * and unanswered.
   */
  whenHolding(): Promise<void> {
    return this.heldBytes > 0 ? Promise.resolve() : new Promise((resolve) => this.heldWaiters.push(resolve));
  }

  /** Forwards again; stalled connections are reset, and a cut proxy listens again on its port. */
  async restore(): Promise<void> {
    this.stalled = false;
    this.heldBytes = 0;
    for (const link of this.links) if (link.stalled) this.drop(link);
    if (!this.server.listening) await listen(this.server, this.port);
  }

  async close(): Promise<void> {
    await this.cut();
  }

  private accept(client: Socket): void {
    const link: Link = { client, stalled: this.stalled };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    client.on('data', (chunk: Buffer) => {
      if (link.stalled) return this.hold(chunk);
      link.upstream?.write(chunk);
    });
    // A stalled proxy accepts but never reaches the target: a MySQL client waits for a greeting.
    if (link.stalled) return;
    client.pause();
    const upstream = connect(this.target.port, this.target.host, () => client.resume());
    link.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      if (!link.stalled) client.write(chunk);
    });
    upstream.on('error', () => this.drop(link));
    upstream.on('close', () => this.drop(link));
  }

  private hold(chunk: Buffer): void {
    this.heldBytes += chunk.length;
    for (const resolve of this.heldWaiters.splice(0)) resolve();
  }

  /** Resets both sides (RST, as a crashed peer or a broken path gives), once. */
  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    reset(link.client);
    if (link.upstream) reset(link.upstream);
  }
}

/**
 * RST on an open connection; a plain destroy on one already half-closed or closing (Node 20's
 * resetAndDestroy() on such a socket leaves a handle spinning that keeps the process alive).
 */
function reset(socket: Socket): void {
  if (socket.readyState === 'open') socket.resetAndDestroy();
  else socket.destroy();
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

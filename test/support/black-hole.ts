import { createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * An endpoint that accepts connections and never answers: a dead connection, the worst a
 * client can meet (a hung AWS service, a stuck sink). `connections` counts those accepted
 * (a client is now waiting on one); `close` drops every connection.
 */
export async function blackHole(): Promise<{
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

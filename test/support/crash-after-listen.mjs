// Preloaded into a relay process (NODE_OPTIONS=--import) by the crash-logging tests: once
// the relay's HTTP server listens (the relay is up, its logger and handlers in place), an
// error nobody catches: thrown (RELAY_TEST_CRASH=throw) or a rejected promise (=reject).
import { Server } from 'node:net';
import process from 'node:process';
import { setImmediate } from 'node:timers';

const listen = Server.prototype.listen;
Server.prototype.listen = function (...args) {
  this.once('listening', () =>
    setImmediate(() => {
      const error = new Error('boom from the test');
      if (process.env.RELAY_TEST_CRASH === 'reject') void Promise.reject(error);
      else throw error;
    }),
  );
  return listen.apply(this, args);
};

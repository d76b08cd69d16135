/**
 * The logger's own guards, line by line (the real processes' output is checked in test/observe): fields named like
 * a secret are censored, and a card token is scrubbed wherever it stands in a line, even inside free text.
 */
import { Writable } from 'node:stream';
import { SCRUBBED_CARD_TOKEN, createLogger } from '../../lib/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level: 'debug', destination }) };
}

test('when a message or a field quotes a card token, then the line holds the scrubbed marker instead', () => {
  const { lines, logger } = capture();
  logger.info({ detail: 'the gateway refused tok_visa_4242' }, 'declined: tok_declined');
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toMatch(/tok_(visa|declined)/);
  expect(lines[0]!.split(SCRUBBED_CARD_TOKEN)).toHaveLength(3);
});

test('when fields are named like secrets, then their values are censored, nested ones too', () => {
  const { lines, logger } = capture();
  logger.info(
    { password: 'hunter2-hunter2', payment: { token: 'pm-1' }, headers: { authorization: 'Bearer abc.def' } },
    'login',
  );
  const line = lines[0]!;
  for (const secret of ['hunter2-hunter2', 'pm-1', 'Bearer abc.def']) expect(line).not.toContain(secret);
  expect(JSON.parse(line)).toMatchObject({ password: '[redacted]' });
});

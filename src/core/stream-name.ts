/** A stream's own name: the name itself, or the last part of its ARN. */
export function plainStreamName(nameOrArn: string): string {
  return nameOrArn.replace(/^arn:aws[^:]*:kinesis:[^:]*:[^:]*:stream\//, '');
}

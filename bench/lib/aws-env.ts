/** The SDK's own variables that point a consumer process at the benchmark's endpoints. */
export function awsEnv(endpoints: {
  kinesis: string;
  dynamodb?: string;
  s3?: string;
}): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    // s3rver accepts only these credentials; the other endpoints accept any.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    ...(endpoints.dynamodb ? { AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb } : {}),
    ...(endpoints.s3 ? { AWS_ENDPOINT_URL_S3: endpoints.s3 } : {}),
  };
}

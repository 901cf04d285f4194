#!/bin/bash
# LocalStack "ready" hook: creates what kinesis-relay reads and writes, then puts a few
# sample events on the stream. LocalStack runs it once it serves requests; the compose
# healthcheck waits for the marker file written at the end.
#
# Names match deploy/localstack/relay.yaml. Re-running is safe: existing resources are kept.
set -euo pipefail

STREAM="${RELAY_STREAM:-engagement-events}"
SHARDS="${RELAY_SHARDS:-2}"
LEASE_TABLE="${RELAY_LEASE_TABLE:-engagement-relay}"
BUCKETS="${RELAY_BUCKETS:-engagement-archive engagement-staging}"
MARKER=/tmp/kinesis-relay-init.done

rm -f "$MARKER"

if awslocal kinesis describe-stream-summary --stream-name "$STREAM" >/dev/null 2>&1; then
  echo "stream $STREAM exists"
else
  awslocal kinesis create-stream --stream-name "$STREAM" --shard-count "$SHARDS"
fi
awslocal kinesis wait stream-exists --stream-name "$STREAM"

# The relay creates its lease table itself when it is missing (dynamodb:CreateTable);
# creating it here shows the KCL-compatible shape: one hash key, leaseKey (the shard id),
# and KCL 3's owner index, which the relay's claim pass queries instead of scanning.
if awslocal dynamodb describe-table --table-name "$LEASE_TABLE" >/dev/null 2>&1; then
  echo "table $LEASE_TABLE exists"
else
  awslocal dynamodb create-table \
    --table-name "$LEASE_TABLE" \
    --attribute-definitions AttributeName=leaseKey,AttributeType=S AttributeName=leaseOwner,AttributeType=S \
    --key-schema AttributeName=leaseKey,KeyType=HASH \
    --global-secondary-indexes '[{"IndexName":"LeaseOwnerToLeaseKeyIndex","KeySchema":[{"AttributeName":"leaseOwner","KeyType":"HASH"},{"AttributeName":"leaseKey","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]' \
    --billing-mode PAY_PER_REQUEST
fi
awslocal dynamodb wait table-exists --table-name "$LEASE_TABLE"

for bucket in $BUCKETS; do
  if awslocal s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    echo "bucket $bucket exists"
  else
    awslocal s3 mb "s3://$bucket"
  fi
done

# AWS CLI v2 reads blob arguments as base64 unless told otherwise; v1 takes them raw.
blob_flag=()
if aws --version 2>&1 | grep -q '^aws-cli/2'; then
  blob_flag=(--cli-binary-format raw-in-base64-out)
fi

put_event() {
  awslocal kinesis put-record "${blob_flag[@]}" --stream-name "$STREAM" \
    --partition-key "$1" --data "$2" >/dev/null
}

now="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
put_event device-1 '{"id":"0f0c5f4e-0000-4000-8000-000000000001","type":"OPEN","offset":1,"occurred":"'"$now"'","processed":"'"$now"'","device":{"ios_channel":"a1b2c3d4-0000-4000-8000-000000000001","named_user_id":"user-1"},"body":{"session_id":"s-1"}}'
put_event device-2 '{"id":"0f0c5f4e-0000-4000-8000-000000000002","type":"CUSTOM","offset":2,"occurred":"'"$now"'","processed":"'"$now"'","device":{"android_channel":"a1b2c3d4-0000-4000-8000-000000000002"},"body":{"name":"purchase","value":19.99,"transaction":"t-1"}}'
put_event device-3 '{"id":"0f0c5f4e-0000-4000-8000-000000000003","type":"UNINSTALL","offset":3,"occurred":"'"$now"'","processed":"'"$now"'","device":{"named_user_id":"user-3"}}'
put_event endpoint-1 '{"event_type":"_session.start","event_timestamp":1700000000000,"arrival_timestamp":1700000000500,"event_version":"3.1","application":{"app_id":"local-pinpoint-app","sdk":{}},"client":{"client_id":"c-1"},"device":{"platform":{"name":"ios"}},"session":{"session_id":"s-9"},"attributes":{},"metrics":{}}'
put_event plain-1 '{"kind":"local-test","message":"hello from init-aws.sh"}'

touch "$MARKER"
echo "kinesis-relay: stream $STREAM ($SHARDS shards), lease table $LEASE_TABLE, buckets: $BUCKETS"

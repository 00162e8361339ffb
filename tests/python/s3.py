"""boto3 against the test's S3 server: what the archive tests ask of an independent client.

Usage: s3.py ENDPOINT BUCKET COMMAND [KEY]
  mkbucket   make BUCKET with Object Lock enabled
  head KEY   print the object's length, lock mode and retain-until date (one JSON object)
  delete KEY try to delete the object's version; print "deleted" or "refused: <error code>"
  exists KEY print "yes" when the bucket holds KEY, "no" when not
  put KEY FILE  write FILE as a new version of KEY (what tampering with an archive can do)
  put-sha256 KEY FILE  stream FILE as KEY in one PUT carrying its SHA-256 (the bench's reference)
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError

endpoint, bucket, command = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
if command == "mkbucket":
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
elif command == "head":
    h = s3.head_object(Bucket=bucket, Key=sys.argv[4])
    print(json.dumps({"length": h["ContentLength"], "mode": h.get("ObjectLockMode"),
                      "until": str(h.get("ObjectLockRetainUntilDate"))}))
elif command == "exists":
    try:
        s3.head_object(Bucket=bucket, Key=sys.argv[4])
        print("yes")
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchKey"):
            raise
        print("no")
elif command == "delete":
    key = sys.argv[4]
    version = s3.head_object(Bucket=bucket, Key=key).get("VersionId")
    try:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        print("deleted")
    except ClientError as e:
        print("refused: " + e.response["Error"]["Code"])
elif command == "put":
    with open(sys.argv[5], "rb") as f:
        s3.put_object(Bucket=bucket, Key=sys.argv[4], Body=f.read())
elif command == "put-sha256":
    with open(sys.argv[5], "rb") as f:
        s3.put_object(Bucket=bucket, Key=sys.argv[4], Body=f, ChecksumAlgorithm="SHA256")
else:
    sys.exit(f"unknown command {command}")

"""The AWS adapter: the only package that talks to AWS (boto3)."""

"""LocalStack provider plugin for albctl's end-to-end tests.

Community LocalStack registers no provider for elbv2, wafv2 or shield and answers HTTP 501.
This package registers one for each (entry-point group ``localstack.aws.provider``) that
hands every operation to the moto backends LocalStack already bundles, so load balancers can
reference the VPCs, subnets, security groups and ACM certificates created through LocalStack.
"""

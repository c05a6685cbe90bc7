"""The read API's AppSync Lambda: the dashboard's services on the aws backend."""

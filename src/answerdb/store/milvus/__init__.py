"""The Store contract on Milvus (a server, a cluster, or Milvus Lite in a file)."""

"""Generated gRPC stubs (scripts/gen_proto.sh); private, never re-exported."""

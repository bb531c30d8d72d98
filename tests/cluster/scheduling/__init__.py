"""Pure tests of cluster.scheduling: no database, no Django."""

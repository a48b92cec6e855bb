"""Files for other tools: Chrome trace JSON, GraphML and Graphviz DOT."""

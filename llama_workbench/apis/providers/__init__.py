"""The Providers API: the provider instances a stack runs, with their (masked) configs."""

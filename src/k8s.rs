//! The few Kubernetes API calls the charm makes (Services, pod labels), through one client.

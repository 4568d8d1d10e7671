//! System-user passwords: generation from the OS CSPRNG and the keys of the peer secret.

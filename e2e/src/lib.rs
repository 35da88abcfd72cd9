//! The cluster harness: etcd and kube-apiserver started on loopback for end-to-end tests.

// oci and cache both define BlobNotFoundException; the cache verbs mean the content store's.
global using BlobNotFoundException = BuildFarm.Cache.BlobNotFoundException;

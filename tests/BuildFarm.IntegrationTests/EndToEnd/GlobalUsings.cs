// oci and cache both define BlobNotFoundException; the cache contract tests mean the content store's.
global using BlobNotFoundException = BuildFarm.Cache.BlobNotFoundException;

/*
 * net.h - CIDR networks, request headers, the client's address (net.c).
 */
#ifndef RG_BASE_NET_H
#define RG_BASE_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "roomgate.h"

typedef struct rg_cidr {
	unsigned char addr[16];
	int family; /* 4 or 6 */
	int bits;
} rg_cidr;

/* "10.0.0.0/8", "::1" (a host is /32 or /128). */
rg_err rg_cidr_parse(const char *s, rg_cidr *out);
bool rg_cidr_contains(const rg_cidr *nets, size_t n, const char *addr);
/* A request header by name (case-insensitive), or NULL. */
const char *rg_req_header(const rg_request_t *req, const char *name);
/* The client's address: the TCP peer, or when the peer is one of `trusted`
 * the right-most X-Forwarded-For hop that is not (copied into buf). */
const char *rg_client_addr(const rg_cidr *trusted, size_t n_trusted, const rg_request_t *req,
			   char *buf, size_t n);

#endif

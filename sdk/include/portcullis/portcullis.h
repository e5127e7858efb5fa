/*
 * portcullis/portcullis.h - the whole Portcullis plugin SDK.
 *
 *   abi.h      versioning rules, magic, status codes
 *   request.h  request views and verdicts (frontends)
 *   host.h     the services table the host lends every plugin
 *   plugin.h   the descriptor a plugin exports, evaluator and frontend types
 */
#ifndef PORTCULLIS_PORTCULLIS_H
#define PORTCULLIS_PORTCULLIS_H
#include "abi.h"
#include "request.h"
#include "host.h"
#include "plugin.h"
#endif

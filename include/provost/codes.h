/*
 * codes.h -- the HRESULT-style codes of Provost, one list for the engine (provost.h) and
 * for providers (provider.h).  A code with the high bit set is a failure; 0x8007xxxx wraps
 * a Windows error number, as MPF's codes did, so an operator's error tables carry over.
 */
#ifndef PROVOST_CODES_H
#define PROVOST_CODES_H

#define PROVOST_S_OK            0x00000000u
#define PROVOST_E_FAIL          0x80004005u /* unspecified failure */
#define PROVOST_E_ABORTED       0x80004004u /* running when its process ended: finished by recovery */
#define PROVOST_E_NOTFOUND      0x80070002u /* procedure, namespace or object not found */
#define PROVOST_E_ACCESSDENIED  0x80070005u
#define PROVOST_E_XSLT          0x8007000Du
#define PROVOST_E_OUTOFMEMORY   0x8007000Eu
#define PROVOST_E_READONLY      0x80070013u /* read-only namespace */
#define PROVOST_E_JOURNAL       0x8007001Fu
#define PROVOST_E_INVALIDARG    0x80070057u /* bad request, namespace XML or executeData */
#define PROVOST_E_NOPROVIDER    0x8007007Eu
#define PROVOST_E_EXISTS        0x800700B7u /* the object already exists */
#define PROVOST_E_NONODE        0x80070490u /* ifNull="fail", null transform; no such element */
#define PROVOST_E_DEPTH         0x800703E9u /* more than 64 nested calls */
#define PROVOST_E_UNREACHABLE   0x800704CFu /* a provider's backend cannot be reached */
#define PROVOST_E_BACKEND       0x8007054Fu /* a provider's backend failed on its side */
#define PROVOST_E_TIMEOUT       0x800705B4u /* a provider's backend did not answer in time */
#define PROVOST_E_BUDGET        0x80070718u /* the request ran out of its step budget */
#define PROVOST_E_SCHEMA        0xC00CE014u /* executeData violates the procedure's schema */

#endif

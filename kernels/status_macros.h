// ASSIGN_OR_RETURN / RETURN_IF_ERROR for absl::Status and absl::StatusOr.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LLMW_STATUS_CONCAT_INNER(a, b) a##b
#define LLMW_STATUS_CONCAT(a, b) LLMW_STATUS_CONCAT_INNER(a, b)

#define LLMW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(*tmp)

// `lhs` may declare a variable: ASSIGN_OR_RETURN(int x, ParseInt(s));
#define ASSIGN_OR_RETURN(lhs, expr) \
  LLMW_ASSIGN_OR_RETURN_IMPL(LLMW_STATUS_CONCAT(status_or_, __LINE__), lhs, expr)

#define RETURN_IF_ERROR(expr)                                                     \
  do {                                                                            \
    if (absl::Status llmw_status = (expr); !llmw_status.ok()) return llmw_status; \
  } while (false)

#pragma once

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace tokens {

// A protobuf arena whose first `kFirstBlock` bytes are part of this object,
// for one call's messages: what fits there allocates nothing else, and all of
// it is freed at once with the object.
template <size_t kFirstBlock>
class InlineArena {
 public:
  InlineArena() : arena_(FirstBlock(block_)) {}
  InlineArena(const InlineArena&) = delete;
  InlineArena& operator=(const InlineArena&) = delete;

  google::protobuf::Arena& arena() { return arena_; }

 private:
  static google::protobuf::ArenaOptions FirstBlock(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kFirstBlock;
    return options;
  }

  // Declared before the arena, so it outlives it.
  alignas(alignof(std::max_align_t)) char block_[kFirstBlock];
  google::protobuf::Arena arena_;
};

// Puts the request and response of each call of a callback unary method on
// one InlineArena: parsing the request and building the answer then allocate
// nothing else, and the whole call is freed at once. Set it with the
// generated SetMessageAllocatorFor_<Method>(); it must outlive the server.
// `kFirstBlock` should hold a typical request and response.
template <class Request, class Response, size_t kFirstBlock = 4096>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder; }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_.arena()));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_.arena()));
    }
    void Release() override { delete this; }

   private:
    InlineArena<kFirstBlock> arena_;
  };
};

}  // namespace tokens

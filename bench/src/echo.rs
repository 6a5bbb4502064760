//! The baseline: a bare tonic server with one unary echo method, no authentication and no storage, served the
//! way the suite serves (no-delay on accepted sockets), in a process of its own.

use tonic::{
    Request, Response, Status,
    transport::{Server, server::TcpIncoming},
};

pub mod pb {
    tonic::include_proto!("bench.echo.v1");
}

use pb::{
    EchoRequest, EchoResponse,
    echo_service_server::{EchoService, EchoServiceServer},
};

#[derive(Debug, Default)]
struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

/// Serves on `listen` and prints `listening <address>` once bound.
pub async fn serve(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening {}", listener.local_addr()?);
    Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
        .await?;
    Ok(())
}
